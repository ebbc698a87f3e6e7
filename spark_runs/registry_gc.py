"""Which trainer image tags to delete from DOCR before its garbage collection.

Every `pulumi up` that changes the trainer pushes a new content tag, and `docker.Image` never
deletes old ones, so the registry tier fills up. This reads the repository's tags as
`doctl registry repository list-tags trainer -o json` prints them (on stdin) and prints the tags to
delete, one a line: all but the newest ``--keep`` and those whose manifest a stack still runs
(``--in-use``, the stacks' ``image`` outputs, ``<repository>@sha256:<digest>``). Deleting them
leaves untagged manifests, which `doctl registry garbage-collection start
--include-untagged-manifests` then removes (.github/workflows/registry-gc.yml runs all of it).

That collection removes every untagged manifest, so it would also remove an image a stack runs
whose tag was pushed again with other bytes. Each stack pushes only tags of its own
(``<stack>-<content hash>``), which leaves no such image; should one exist anyway, this refuses
(exit 1, nothing printed) so the workflow stops before collecting.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from spark_job.cli import OneLineParser, fail
from spark_runs.image import CACHE_TAG


def tags_to_delete(tags: Sequence[dict[str, Any]], keep: int, in_use: Sequence[str]) -> list[str]:
    """Tags beyond the ``keep`` newest whose manifest digest no stack runs."""
    digests = {reference.rsplit("@", 1)[-1] for reference in in_use}
    candidates = [tag for tag in tags if tag["tag"] != CACHE_TAG]
    newest_first = sorted(candidates, key=lambda tag: str(tag["updated_at"]), reverse=True)
    return [str(tag["tag"]) for tag in newest_first[keep:] if tag["manifest_digest"] not in digests]


def untagged_in_use(tags: Sequence[dict[str, Any]], in_use: Sequence[str]) -> list[str]:
    """The images a stack runs that no tag points at (garbage collection would delete them)."""
    tagged = {tag["manifest_digest"] for tag in tags}
    return [reference for reference in in_use if reference.rsplit("@", 1)[-1] not in tagged]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=int, default=5, help="newest tags to keep (default 5)")
    parser.add_argument(
        "--in-use",
        action="append",
        default=[],
        metavar="IMAGE",
        help="an image a stack runs, repository@sha256:digest (repeat per stack)",
    )
    args = parser.parse_args(argv)
    if args.keep < 1:
        parser.error(f"--keep must be at least 1, got {args.keep}")
    for reference in args.in_use:
        if "@sha256:" not in reference:
            parser.error(f"--in-use {reference!r} is not pinned by digest (repository@sha256:...)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        tags = json.load(sys.stdin)
        deletions = tags_to_delete(tags, args.keep, args.in_use)
        untagged = untagged_in_use(tags, args.in_use)
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        fail("registry_gc", f"stdin is not the JSON of doctl's list-tags ({error!r})")
    if untagged:
        print(
            f"registry_gc: error: {untagged[0]} runs on a stack but has no tag, so garbage "
            "collection would delete it; tag it again (docker pull it, docker tag it as "
            "<repository>:<stack>-keep, docker push) and run the clean-up again",
            file=sys.stderr,
        )
        sys.exit(1)
    for tag in deletions:
        print(tag)


if __name__ == "__main__":
    main()
