from prism_accept.plugins.redis.plugin import build_plugin
from prism_accept.plugins.runtime import main

main(build_plugin)
