from storemood.cli import main

raise SystemExit(main())
