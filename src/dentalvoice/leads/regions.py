"""US states and Canadian provinces: names and postal abbreviations to two-letter codes."""

from __future__ import annotations

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip

CA_PROVINCES = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip

_COUNTRY_NAMES = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "CA": "CA", "CAN": "CA", "CANADA": "CA",
}  # fmt: skip


def _fold(text: str) -> str:
    return " ".join(text.replace(".", "").split()).upper()


_BY_NAME = {
    country: {_fold(name): code for code, name in table.items()}
    for country, table in (("US", US_STATES), ("CA", CA_PROVINCES))
}
_BY_NAME["CA"]["QUÉBEC"] = "QC"
_BY_NAME["CA"]["PQ"] = "QC"


def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 for the countries we call ("US", "CA"); other 2-letter codes as given."""
    if not value:
        return None
    folded = _fold(value)
    if folded in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[folded]
    return folded if len(folded) == 2 and folded.isalpha() else None


def region_code(value: str | None, *, country: str | None) -> str | None:
    """The two-letter state/province code for a name or code, or None if unknown."""
    if not value:
        return None
    folded = _fold(value)
    countries = [country] if country in _BY_NAME else ["US", "CA"]
    for c in countries:
        table = US_STATES if c == "US" else CA_PROVINCES
        if folded in table:
            return folded
        if folded in _BY_NAME[c]:
            return _BY_NAME[c][folded]
    return None
