from prism_plugin.runtime import main
from prism_kafka import build_plugin

main(build_plugin)
