"""Lead intake: GHL webhooks verified, stored raw (encrypted), normalised into leads, replayable."""
