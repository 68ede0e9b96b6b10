"""Call jobs and attempts: what is due to be dialed, and what each dial did."""
