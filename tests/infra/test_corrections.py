"""python -m infra.corrections export DIR: every correction in the bucket, in key order, as the
IDX files training takes; what is not a correction is skipped and named."""

from __future__ import annotations

import numpy as np
import pytest

from infra.corrections import main
from training.data.corrections import load_corrections


def put(handle, key: str, body: bytes, label: str | None) -> None:
    metadata = {} if label is None else {"label": label}
    handle.client.put_object(Bucket=handle.bucket, Key=key, Body=body, Metadata=metadata)


def test_export_writes_the_buckets_corrections_as_idx_files(moto_server_s3, monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("MAPS_BUCKET", moto_server_s3.bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_server_s3.endpoint)
    seven, blot = np.full((28, 28), 7, np.uint8), np.arange(784, dtype=np.uint32).astype(np.uint8).reshape(28, 28)
    put(moto_server_s3, "corrections/" + "b" * 32, seven.tobytes(), "7")
    put(moto_server_s3, "corrections/" + "a" * 32, blot.tobytes(), "10")
    put(moto_server_s3, "corrections/" + "c" * 32, b"\x00" * 100, "3")  # not 784 bytes
    put(moto_server_s3, "corrections/" + "d" * 32, bytes(784), "11")  # not a class
    put(moto_server_s3, "corrections/" + "e" * 32, bytes(784), None)  # no label
    put(moto_server_s3, "predictions/" + "f" * 32 + "/input.png", bytes(784), "1")  # not a correction

    assert main(["export", str(tmp_path / "out")]) == 0
    images, labels = load_corrections(tmp_path / "out")
    assert labels.tolist() == [10, 7]  # in key order: a..., then b...
    assert np.array_equal(images[0], blot) and np.array_equal(images[1], seven)
    out, err = capsys.readouterr()
    assert "2 corrections (digits: 1, not a digit: 1)" in out and moto_server_s3.bucket in out
    assert err.count("skipped corrections/") == 3
    assert "100 bytes" in err and "'11'" in err and "''" in err


def test_an_empty_bucket_exports_empty_files(moto_server_s3, tmp_path, capsys) -> None:
    args = ["export", str(tmp_path), "--bucket", moto_server_s3.bucket, "--endpoint-url", moto_server_s3.endpoint]
    assert main(args) == 0
    images, labels = load_corrections(tmp_path)
    assert images.shape == (0, 28, 28) and labels.size == 0
    assert capsys.readouterr().out.startswith("0 corrections")


def test_export_needs_a_folder(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["export"])
    assert done.value.code == 2 and "DIR" in capsys.readouterr().err
