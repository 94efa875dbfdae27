"""benchmarks/_machine.py: every benchmark JSON names its machine (CPU model, cores, the instruction sets that decide
the BLAS kernels, the BLAS libraries), keeping what a script recorded itself."""

from __future__ import annotations

import json

from conftest import load_script

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512_bf16 avx512vl amx_tile amx_bf16 avx_vnni sha_ni
processor\t: 1
vendor_id\t: AuthenticAMD
"""


def test_cpu_info_keeps_the_model_vendor_and_only_the_blas_flags(tmp_path):
    machine = load_script("benchmarks/_machine.py")
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    info = machine.cpu_info(str(path))
    assert info["model"] == "AMD EPYC 9R14 96-Core Processor" and info["vendor"] == "AuthenticAMD"
    assert info["blas_flags"] == ["amx_bf16", "amx_tile", "avx2", "avx512_bf16", "avx512f", "avx512vl", "avx_vnni",
                                  "fma"]
    missing = machine.cpu_info(str(tmp_path / "absent"))  # not Linux: no crash, the platform's own name
    assert missing["vendor"] is None and missing["blas_flags"] == []


def test_write_json_records_the_machine_beside_the_scripts_own_fields(tmp_path, monkeypatch):
    machine = load_script("benchmarks/_machine.py")
    monkeypatch.setattr(machine, "machine", lambda: {"cpu": {"model": "X"}, "cores": 2})
    report = {"speed": 1.5, "machine": {"device": "cpu", "cpu": "x86_64"}}
    out = tmp_path / "out" / "bench.json"
    machine.write_json(out, report)
    written = json.loads(out.read_text())
    assert written["speed"] == 1.5
    assert written["machine"] == {"device": "cpu", "cpu": {"model": "X"}, "cores": 2}  # the fuller cpu wins


def test_the_real_machine_names_cpu_cores_blas_and_torch():
    import numpy  # noqa: F401  (its BLAS loaded, as in every benchmark)
    import torch  # noqa: F401

    found = load_script("benchmarks/_machine.py").machine()
    assert found["cores"] >= 1 and found["cpu"]["model"]
    assert found["torch"]["blas"] and found["torch"]["version"]
    assert any(lib.get("user_api") == "blas" for lib in found["blas_libraries"])
