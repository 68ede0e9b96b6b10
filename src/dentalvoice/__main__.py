"""`python -m dentalvoice` runs the command line."""

from dentalvoice.cli import main

main()
