"""The one-folder program's entry point: the same ``main`` as the ``shebao-desk`` command.

The program starts helpers as ``sys.executable -m shebao_desk.…`` (printing runs in a child
process); frozen, ``sys.executable`` is this program, so it honours ``-m`` for its own modules.
"""

import runpy
import sys

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "-m" and sys.argv[2].startswith("shebao_desk."):
        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        raise SystemExit(0)
    from shebao_desk.commands.cli import main
    raise SystemExit(main())
