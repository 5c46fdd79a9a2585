#!/usr/bin/env python3
"""pydynox 1.8.0 on the other end of a shared table: one command per call, for interop tests.

Run it with the Python of a virtual environment that has `pydynox==1.8.0` (the project's is
`.venv-pydynox`, see tests/interop/NOTES.md). Every call prints one JSON object on stdout and
exits 0; on failure it prints `pydynox_agent: error: ...` on stderr and exits 1 (3 when the
item does not exist, 2 for bad arguments).

    pydynox_agent.py --table T --bucket B [--prefix P] COMMAND ARGS...

The model is

    class Doc(Model):
        pk = StringAttribute(partition_key=True)
        title = StringAttribute()
        doc = S3Attribute(bucket=B, prefix=P)

Commands:
    create-table             create T (hash key `pk`, S; on-demand) and wait for it
    save PK TITLE PATH       new item: PutItem after uploading PATH to P + PK('#'->'/') + '/' + name
                             (--name NAME, --content-type CT, --meta K=V ... for the file)
    get PK                   {"item": {"pk", "title", "doc": {...metadata...} | null, "extra": {...}}}
                             or {"item": null}
    raw PK                   the item as pydynox's client reads it (plain JSON, no model)
    download PK OUT          writes the object's bytes to OUT ({"bytes": n, "sha256": ...})
    replace PK PATH          get, doc = new file, save (an UpdateItem of `doc` only)
    retitle PK TITLE         get, title = TITLE, save (an UpdateItem of `title` only)
    touch PK                 get, save with nothing changed (pydynox then does a full PutItem
                             of the fields it knows)
    clear PK                 get, doc = None, save (the object stays in S3)
    delete PK                get, delete (DeleteItem, then DeleteObject of the stored key)

Environment: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 when the
two services listen apart), AWS_REGION or AWS_DEFAULT_REGION (default us-east-1),
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (default "testing" for a local
endpoint). The bucket must exist: pydynox does not create buckets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

EXIT_ERROR = 1
EXIT_NOT_FOUND = 3


class AgentError(Exception):
    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


def _jsonable(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes_hex": bytes(value).hex()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _settings():
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    ddb_endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or endpoint
    s3_endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or endpoint
    if not ddb_endpoint or not s3_endpoint:
        raise AgentError("set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3)")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    creds = dict(
        region=region,
        access_key=os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing",
        session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
    )
    return ddb_endpoint, s3_endpoint, creds


def _model(args):
    try:
        import pydynox
        from pydynox import DynamoDBClient, Model, ModelConfig
        from pydynox.attributes import S3Attribute, StringAttribute
        from pydynox.pydynox_core import S3Operations
    except ImportError as e:
        raise AgentError(f"cannot import pydynox ({e}); run with the .venv-pydynox Python")
    if pydynox.__version__ != "1.8.0":
        raise AgentError(f"pydynox {pydynox.__version__} found, 1.8.0 expected")

    ddb_endpoint, s3_endpoint, creds = _settings()
    client = DynamoDBClient(endpoint_url=ddb_endpoint, **creds)

    class Doc(Model):
        model_config = ModelConfig(table=args.table, client=client)
        pk = StringAttribute(partition_key=True)
        title = StringAttribute()
        doc = S3Attribute(bucket=args.bucket, prefix=args.prefix)

    attr = Doc._attributes["doc"]
    # pydynox 1.8.0 builds the attribute's S3 client lazily on the first upload or delete, and
    # its reader refuses to decode a file field before that ("S3 operations not initialized"):
    # a process that only reads would fail. Build it up front, with the S3 endpoint.
    if s3_endpoint == ddb_endpoint:
        attr._get_s3_ops(client)
    else:
        attr._s3_ops = S3Operations(endpoint_url=s3_endpoint, **creds)
    return client, Doc


def _file_view(value):
    if value is None:
        return None
    from pydynox._internal._s3 import S3Value

    if not isinstance(value, S3Value):
        return {"unexpected": repr(value)}
    return {
        "bucket": value.bucket,
        "key": value.key,
        "size": _jsonable(value.size),
        "etag": value.etag,
        "content_type": value.content_type,
        "last_modified": value.last_modified,
        "version_id": value.version_id,
        "metadata": _jsonable(value.metadata),
    }


def _load(Doc, pk, required=True):
    item = Doc.sync_get(pk=pk, consistent_read=True)
    if item is None and required:
        raise AgentError(f"no item with pk {pk!r} in table {Doc.model_config.table!r}", EXIT_NOT_FOUND)
    return item


def _s3file(path: str, name: str | None, content_type: str | None, meta: list[str] | None):
    from pydynox._internal._s3 import S3File

    p = Path(path)
    if not p.is_file():
        raise AgentError(f"no such file: {path}")
    metadata = None
    if meta:
        metadata = {}
        for pair in meta:
            if "=" not in pair:
                raise AgentError(f"--meta takes KEY=VALUE, got {pair!r}")
            k, v = pair.split("=", 1)
            metadata[k] = v
    return S3File(p, name=name, content_type=content_type, metadata=metadata)


def _view(item):
    if item is None:
        return None
    original = item._original or {}
    extra = {k: _jsonable(v) for k, v in original.items() if k not in ("pk", "title", "doc")}
    return {"pk": item.pk, "title": item.title, "doc": _file_view(item.doc), "extra": extra}


def run(args) -> dict:
    client, Doc = _model(args)
    cmd = args.command
    if cmd == "create-table":
        Doc.sync_create_table(wait=True)
        return {"table": args.table, "hash_key": {"pk": "S"}}
    if cmd == "save":
        item = Doc(pk=args.pk, title=args.title)
        item.doc = _s3file(args.path, args.name, args.content_type, args.meta)
        item.sync_save()
        return {"saved": args.pk, "doc": _file_view(item.doc)}
    if cmd == "get":
        return {"item": _view(_load(Doc, args.pk, required=False))}
    if cmd == "raw":
        raw = client.sync_get_item(args.table, {"pk": args.pk}, consistent_read=True)
        return {"item": _jsonable(raw)}
    if cmd == "download":
        item = _load(Doc, args.pk)
        if item.doc is None:
            raise AgentError(f"item {args.pk!r} has no file in `doc`")
        item.doc.sync_save_to(args.out)
        data = Path(args.out).read_bytes()
        return {"path": args.out, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if cmd == "replace":
        item = _load(Doc, args.pk)
        old = _file_view(item.doc)
        item.doc = _s3file(args.path, args.name, args.content_type, args.meta)
        item.sync_save()
        return {"replaced": args.pk, "old": old, "doc": _file_view(item.doc)}
    if cmd == "retitle":
        item = _load(Doc, args.pk)
        item.title = args.title
        item.sync_save()
        return {"retitled": args.pk, "title": args.title}
    if cmd == "touch":
        item = _load(Doc, args.pk)
        item.sync_save()
        return {"touched": args.pk}
    if cmd == "clear":
        item = _load(Doc, args.pk)
        old = _file_view(item.doc)
        item.doc = None
        item.sync_save()
        return {"cleared": args.pk, "old": old}
    if cmd == "delete":
        item = _load(Doc, args.pk)
        old = _file_view(item.doc)
        item.sync_delete()
        return {"deleted": args.pk, "old": old}
    raise AgentError(f"unknown command {cmd!r}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pydynox_agent.py", description=__doc__.split("\n")[0])
    p.add_argument("--table", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="")
    sub = p.add_subparsers(dest="command", required=True)

    def file_opts(sp):
        sp.add_argument("--name", help="file name (default: PATH's name); ends the object key")
        sp.add_argument("--content-type")
        sp.add_argument("--meta", action="append", metavar="KEY=VALUE", help="S3 user metadata")

    sub.add_parser("create-table")
    sp = sub.add_parser("save")
    sp.add_argument("pk"), sp.add_argument("title"), sp.add_argument("path")
    file_opts(sp)
    for name in ("get", "raw", "touch", "clear", "delete"):
        sub.add_parser(name).add_argument("pk")
    sp = sub.add_parser("download")
    sp.add_argument("pk"), sp.add_argument("out")
    sp = sub.add_parser("replace")
    sp.add_argument("pk"), sp.add_argument("path")
    file_opts(sp)
    sp = sub.add_parser("retitle")
    sp.add_argument("pk"), sp.add_argument("title")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args)
    except AgentError as e:
        print(f"pydynox_agent: error: {e}", file=sys.stderr)
        return e.code
    except Exception as e:  # pydynox's own exceptions (S3, DynamoDB, conversion)
        print(f"pydynox_agent: error: {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_ERROR
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
