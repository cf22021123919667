"""The audit API: the trail for operators and for each athlete (`trail`), scheduled jobs (`jobs`) and
dead-lettered messages (`dead_letters`), seed 001's section Admin."""
