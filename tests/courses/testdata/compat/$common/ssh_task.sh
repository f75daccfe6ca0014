#!/bin/bash
# A shell for the student (ssh_student), shared by the tasks shell (docker-ssh)
# and shell-refused (plain docker, where INGInious refuses it too).
ssh_student --setup-script "echo broken > student/file.txt"
code=$?
feedback-custom ssh_code $code
case $code in
    0)   feedback-result success; feedback-msg -m "Session over." ;;
    253) feedback-result failed; feedback-msg -m "You did not log in in time." ;;
    *)   feedback-result error; feedback-msg -m "ssh_student failed: $code" ;;
esac
