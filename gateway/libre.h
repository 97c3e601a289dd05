/**
 * @file libre.h  The parts of libre that Keepline uses, included once
 *
 * libre's headers have no include guards, so two headers that each pull in
 * re_sa.h break the build; every file includes this instead. <re.h> itself
 * is never used: next to Sofia's SIP/SDP headers it collides at compile
 * time (sdp_media_audio, the sip_request macro), so re_sip.h and re_sdp.h
 * are left out here and included only where Sofia is not.
 */

#ifndef GW_LIBRE_H
#define GW_LIBRE_H

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_odict.h>
#include <re_json.h>

#endif
