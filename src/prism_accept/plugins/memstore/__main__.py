from prism_accept.plugins.memstore.plugin import build_plugin
from prism_accept.plugins.runtime import main

main(build_plugin)
