"""Benchmark 5: the many-files workload of dynox-bench (save, get + download, delete of items
with 64 KiB files) through pydynox, against the same embedded servers.

Run by scripts/bench inside a throwaway virtual environment (target/bench-venv); needs
DYNOX_BENCH_DYNAMODB, DYNOX_BENCH_S3 and the bucket `pydynox-bench` that `dynox-bench servers`
creates. Prints one Markdown table row per mode: sequential (sync API) and concurrent
(asyncio.gather of the async API, bounded by a semaphore).
"""

import argparse
import asyncio
import os
import resource
import statistics
import time

import pydynox
from pydynox import DynamoDBClient, Model, ModelConfig
from pydynox.attributes import S3Attribute, StringAttribute
from pydynox.pydynox_core import S3Operations
from pydynox._internal._s3 import S3File

BUCKET = "pydynox-bench"


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_model(client, table):
    class Attachment(Model):
        model_config = ModelConfig(table=table, client=client)
        id = StringAttribute(partition_key=True)
        name = StringAttribute()
        file = S3Attribute(bucket=BUCKET, prefix="many/")

    return Attachment


def sequential(model, files, tag):
    times = []
    started = time.perf_counter()
    for i, data in enumerate(files):
        item = model(id=f"{tag}-{i}", name="attachment")
        item.file = S3File(data, name="attachment.bin")
        item.sync_save()
    times.append(time.perf_counter() - started)
    started = time.perf_counter()
    total = 0
    for i in range(len(files)):
        item = model.sync_get(id=f"{tag}-{i}")
        total += len(item.file.sync_get_bytes())
    assert total == sum(len(f) for f in files), total
    times.append(time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(len(files)):
        model.sync_get(id=f"{tag}-{i}").sync_delete()
    times.append(time.perf_counter() - started)
    return times


async def concurrent(model, files, tag, limit):
    gate = asyncio.Semaphore(limit)

    async def bounded(coro):
        async with gate:
            return await coro

    async def save(i, data):
        item = model(id=f"{tag}-{i}", name="attachment")
        item.file = S3File(data, name="attachment.bin")
        await item.save()

    async def read(i):
        item = await model.get(id=f"{tag}-{i}")
        return len(await item.file.get_bytes())

    async def delete(i):
        item = await model.get(id=f"{tag}-{i}")
        await item.delete()

    times = []
    started = time.perf_counter()
    await asyncio.gather(*(bounded(save(i, d)) for i, d in enumerate(files)))
    times.append(time.perf_counter() - started)
    started = time.perf_counter()
    sizes = await asyncio.gather(*(bounded(read(i)) for i in range(len(files))))
    assert sum(sizes) == sum(len(f) for f in files)
    times.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(bounded(delete(i)) for i in range(len(files))))
    times.append(time.perf_counter() - started)
    return times


def show(values, decimals):
    return f"{statistics.median(values):.{decimals}f} ({min(values):.{decimals}f}–{max(values):.{decimals}f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kib", type=int, default=64)
    args = parser.parse_args()

    credentials = dict(region="us-east-1", access_key="dynoxlocal", secret_key="dynoxlocal-secret")
    client = DynamoDBClient(endpoint_url=os.environ["DYNOX_BENCH_DYNAMODB"], **credentials)
    table = f"pydynox-{os.getpid()}"
    model = make_model(client, table)
    model.sync_create_table(wait=True)
    # pydynox takes its S3 endpoint from the DynamoDB client; ours is on another port.
    model._attributes["file"]._s3_ops = S3Operations(endpoint_url=os.environ["DYNOX_BENCH_S3"], **credentials)

    files = [bytes([i % 251]) * (args.kib * 1024) for i in range(args.items)]
    results = {"sequential": [], "concurrent": []}
    cpu = {"sequential": [], "concurrent": []}
    asyncio.run(concurrent(model, files[:16], "warm", args.concurrency))
    for round_ in range(args.rounds):
        c0 = cpu_seconds()
        results["sequential"].append(sequential(model, files, f"s{round_}"))
        cpu["sequential"].append((cpu_seconds() - c0) * 1e3 / args.items)
        c0 = cpu_seconds()
        results["concurrent"].append(asyncio.run(concurrent(model, files, f"c{round_}", args.concurrency)))
        cpu["concurrent"].append((cpu_seconds() - c0) * 1e3 / args.items)

    print(f"| pydynox {pydynox.__version__}, {args.items} items × {args.kib} KiB | save items/s | get + download items/s | delete items/s | all three, s | client CPU per item, ms |")
    print("|---|---|---|---|---|---|")
    for mode, runs in results.items():
        rate = lambda phase: [args.items / r[phase] for r in runs]
        label = "sequential (sync API)" if mode == "sequential" else f"asyncio, {args.concurrency} at once"
        print(f"| {label} | {show(rate(0), 0)} | {show(rate(1), 0)} | {show(rate(2), 0)} | {show([sum(r) for r in runs], 2)} | {show(cpu[mode], 2)} |")
    model.sync_delete_table()


if __name__ == "__main__":
    main()
