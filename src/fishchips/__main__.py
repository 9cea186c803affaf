from fishchips.cli.main import main

main()
