from vqabench.cli import main

main()
