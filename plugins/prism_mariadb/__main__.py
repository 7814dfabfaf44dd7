from prism_mariadb import build_plugin
from prism_plugin.runtime import main

main(build_plugin)
