"""Data files for the conversation NLU: dental carriers and treatments."""
