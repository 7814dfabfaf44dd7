from prism_nats import build_plugin
from prism_plugin.runtime import main

main(build_plugin)
