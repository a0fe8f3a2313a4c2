from shebao_desk.commands.cli import main

raise SystemExit(main())
