from prism_plugin.runtime import main
from prism_redis import build_plugin

main(build_plugin)
