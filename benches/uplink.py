# A CI runner's link to a remote registry, for benches/cold.sh: a TCP proxy
# from 127.0.0.1:LISTEN to 127.0.0.1:UPSTREAM whose client-to-server bytes
# (uploads) are limited to MBPS MB/s, shared by all connections; downloads
# pass unlimited.
#
#   python3 benches/uplink.py MBPS LISTEN UPSTREAM
import asyncio, sys, time
RATE = float(sys.argv[1]) * 1e6
LISTEN, UPSTREAM = int(sys.argv[2]), int(sys.argv[3])
state = {"t": time.monotonic(), "debt": 0.0}
async def pace(n):
    now = time.monotonic()
    state["debt"] = max(0.0, state["debt"] - (now - state["t"]) * RATE) + n
    state["t"] = now
    wait = state["debt"] / RATE
    if wait > 0.002:
        await asyncio.sleep(wait)
async def pipe(r, w, limit):
    try:
        while True:
            b = await r.read(65536)
            if not b: break
            if limit: await pace(len(b))
            w.write(b); await w.drain()
    except Exception: pass
    finally:
        try: w.close()
        except Exception: pass
async def handle(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    await asyncio.gather(pipe(cr, sw, True), pipe(sr, cw, False))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with srv: await srv.serve_forever()
asyncio.run(main())
