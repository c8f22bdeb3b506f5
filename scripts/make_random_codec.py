"""Write a codec with random weights to a directory: for tests and the tiny demo only.

    python scripts/make_random_codec.py encodec runs/codecs/encodec-random

Random weights exercise the real code paths (encode -> codes -> decode) but do not sound like
anything; no pretrained codec weights can be downloaded on an offline machine.
"""
import argparse

from vall_e.codecs import save_random_codec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="codec backend: encodec or snac")
    p.add_argument("directory", help="where to write the weights")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(save_random_codec(args.name, args.directory, seed=args.seed))


if __name__ == "__main__":
    main()
