# sipp (Debian's sip-tester) with Keepline's scenarios: one image for
# every sipp service of the rig.
FROM debian:12
RUN apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        sip-tester && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /scenarios
# rtp_stream's tone: 8000 samples/s of mu-law, looped
RUN printf '\377\177%.0s' $(seq 4000) > keepline-tone.ulaw
COPY sipp-scenarios/ /scenarios/
ENTRYPOINT ["sipp"]
