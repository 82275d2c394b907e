"""``python3 -m shardline read INDEX ...``: one rank's records as JSON Lines on stdout.

For scripts and end-to-end tests in other languages. A JSON summary (counts, local-hit
fraction) goes to stderr; ``--limit`` with ``--save-state`` leaves a mid-epoch resume point
that ``--state`` picks up.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from .data import ShardlineDataset


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m shardline", description="Read a shardline dataset index as one rank.")
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="print this rank's records of an epoch as JSON Lines")
    read.add_argument("index", help="local path or s3:// URL of the index")
    read.add_argument("--rank", type=int)
    read.add_argument("--world-size", type=int)
    read.add_argument("--epoch", type=int, default=0, help="epoch to read (with --state: the state's epoch)")
    read.add_argument("--seed", type=int, default=0)
    read.add_argument("--no-shuffle", action="store_true")
    read.add_argument("--drop-last", action="store_true")
    read.add_argument("--cache-dir")
    read.add_argument("--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL)")
    read.add_argument("--limit", type=int, help="stop after this many records")
    read.add_argument("--state", help="resume from this state file (JSON)")
    read.add_argument("--save-state", help="write the resume point reached to this file")
    args = parser.parse_args(argv)

    ds = ShardlineDataset(args.index, rank=args.rank, world_size=args.world_size, seed=args.seed, shuffle=not args.no_shuffle, drop_last=args.drop_last, cache_dir=args.cache_dir, s3_endpoint_url=args.endpoint_url)
    if args.state:
        with open(args.state) as f:
            ds.load_state_dict(json.load(f))
    ds.set_epoch(args.epoch if not args.state else ds.epoch)
    out = sys.stdout
    n = 0
    it = iter(ds)
    for record in it:
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        n += 1
        if args.limit is not None and n >= args.limit:
            break
    if args.save_state:
        with open(args.save_state, "w") as f:
            json.dump(ds.state_dict(), f)
    it.close()
    out.flush()
    summary = {"rank": ds.rank, "worldSize": ds.world_size, "epoch": ds.epoch, "records": n, "stats": ds.stats()}
    sys.stderr.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
