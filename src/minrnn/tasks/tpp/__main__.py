from minrnn.tasks.tpp.train import main

raise SystemExit(main())
