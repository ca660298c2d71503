from minicrm.commands import main

main()
