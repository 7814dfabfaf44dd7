from prism_plugin.runtime import main
from prism_rabbitmq import build_plugin

main(build_plugin)
