from prism_plugin.runtime import main
from prism_postgres import build_plugin

main(build_plugin)
