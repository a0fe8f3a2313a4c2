from shebao_desk.cli import main

raise SystemExit(main())
