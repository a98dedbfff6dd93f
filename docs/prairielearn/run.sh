#!/bin/sh
# PrairieLearn external grader entrypoint for a labctl lab (docs/externalGrading.md of
# PrairieLearn): the student's files are in /grade/student, the result goes to
# /grade/results/results.json, which this script creates. Copy it with the labctl binary to
# serverFilesCourse/labctl/ of the course; info.json sits in the question's directory.
#
# Where the grading container refuses user namespaces, labctl reports "gradable": false with
# the cause in format_errors: the student keeps the attempt and loses no points.
set -u
LAB="${LAB:-homework-redirect}"
mkdir -p /grade/results
/grade/serverFilesCourse/labctl/labctl grade "$LAB" /grade/student --format prairielearn \
    > /grade/results/results.json
if [ $? -ge 2 ]; then
    printf '{"gradable": false, "format_errors": ["the grader could not grade this submission; tell your instructor"]}\n' \
        > /grade/results/results.json
fi
exit 0
