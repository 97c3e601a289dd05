# sipp (Debian's sip-tester) with Keepline's scenarios.
FROM debian:12
RUN apt-get update -q && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        sip-tester python3 && \
    rm -rf /var/lib/apt/lists/*
COPY sipp-scenarios/ /scenarios/
WORKDIR /scenarios
RUN python3 -c 'open("keepline-tone.ulaw", "wb").write(b"\xff\x7f" * 4000)'
ENTRYPOINT ["sipp"]
