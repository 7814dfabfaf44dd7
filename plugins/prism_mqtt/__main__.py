from prism_mqtt import build_plugin
from prism_plugin.runtime import main

main(build_plugin)
