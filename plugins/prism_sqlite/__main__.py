from prism_plugin.runtime import main
from prism_sqlite import build_plugin

main(build_plugin)
