"""The providers workouts are pushed to: Garmin Connect's workout service and COROS Training Hub."""
