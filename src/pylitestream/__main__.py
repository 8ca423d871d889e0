from pylitestream.cli import main

main()
