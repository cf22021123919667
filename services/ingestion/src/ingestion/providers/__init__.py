"""Each provider's reading of activities (webhook payloads and data APIs) into `ActivityData`."""
