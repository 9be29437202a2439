"""A stand-in for the outside market APIs during load runs (the machine may be offline, and the
real DEXScreener must not be hammered by a benchmark). Answers DEXScreener's token-pairs call with a
price that wobbles by ±0.5 %; every other path (CoinGecko, Solscan, Solana RPC) is a 404, so the
platform's first source wins. Stopping this process is the "every outside API down" fault: the
port is then closed.

    python bench/load/stub_outside.py --port 8799 --mint <TOKEN_MINT>
"""

from __future__ import annotations

import argparse
import json
import random
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--mint", required=True)
    a = ap.parse_args()
    state = {"price": 0.0123}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.startswith("/token-pairs/v1/solana/"):
                self.send_error(404)
                return
            state["price"] *= 1 + random.uniform(-0.005, 0.005)
            price = state["price"]
            body = json.dumps(
                [
                    {
                        "chainId": "solana",
                        "pairAddress": "StubPair1111111111111111111111111111111111",
                        "baseToken": {"address": a.mint, "symbol": "SKID"},
                        "priceUsd": f"{price:.8f}",
                        "marketCap": price * 1e9,
                        "fdv": price * 1e9,
                        "volume": {"h24": 123456.0},
                        "liquidity": {"usd": 500000.0},
                        "priceChange": {"h1": 0.1, "h24": 1.2},
                    }
                ]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
