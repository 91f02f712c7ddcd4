"""Text analysis shared by ingest and the service; pure functions of text, no store, no model.

    sentences.py  sentence boundaries (German and English abbreviations, ordinal dates)
    analysis.py   terms: lower-casing, German stemming, umlaut folding, stopwords, compounds
    language.py   a question's language, its keyword query, the bilingual event vocabulary
    entities.py   people, organisations, places, dates, times and numbers in a text
"""
