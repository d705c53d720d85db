# bash completion for pmtr(8). Installed as share/bash-completion/completions/pmtr by
# `make install` and the Debian package; elsewhere: `. docs/completion/pmtr.bash`.
#
# Options and client commands are read from `pmtr -h` of the pmtr being completed, so the
# lists follow the binary; job names come from the running pmtr (`pmtr status --json`,
# through the -s SOCKET given on the line). Needs nothing but bash.

# The client commands, one a line: the first word of each line of the usage text's
# "client commands" section ("start|stop|restart NAME..." gives three).
_pmtr_commands() {
	"$1" -h 2>/dev/null | sed -n '/^client commands/,/^client exit/s/^  \([a-z][a-z|]*\).*/\1/p' | tr '|' '\n'
}

# The options of the usage text ("  -h, --help  ..." gives -h and --help).
_pmtr_options() {
	"$1" -h 2>/dev/null | sed -n 's/^  \(-[-a-zA-Z]*\)\(, \(--[-a-z]*\)\)\{0,1\} .*/\1 \3/p'
}

# The flags the usage text's synopsis gives after command $2 ("status [--json] [NAME...|--all]"
# gives --json and --all; "start|stop|restart NAME...|--all" gives --all for each of the three).
_pmtr_flags() {
	"$1" -h 2>/dev/null | sed -n '1,/^$/p' | grep -E -- "[] |]$2([] |]|$)" | sed "s/.*$2//" | grep -oE -- '-[-a-zA-Z]+' | sort -u
}

# The job names the running pmtr reports; nothing when it is not running.
_pmtr_jobs() {
	"$@" status --json 2>/dev/null | sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p'
}

_pmtr() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${COMP_WORDS[0]}
	command -v "$bin" >/dev/null 2>&1 || bin=pmtr
	local i w cmd='' nargs=0
	local -a client=("$bin")
	COMPREPLY=()

	# Where the line stands: the client command (if any), how many arguments follow it, and
	# the -s SOCKET that the job-name query must use too.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s) client=("$bin" -s "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		-c | -p | -l) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; else ((nargs++)); fi ;;
		esac
	done

	case $prev in
	-c | -p | -s | -l)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_pmtr_options "$bin")" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_pmtr_commands "$bin")" -- "$cur")
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_pmtr_flags "$bin" "$cmd")" -- "$cur")
		return
	fi
	case $prev in -n) return ;; esac # logs -n N: a number

	case $cmd in
	reload | reopen) ;;
	signal)
		if ((nargs == 0)); then
			mapfile -t COMPREPLY < <(compgen -W "HUP INT QUIT KILL USR1 USR2 TERM CONT STOP TSTP ALRM WINCH" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_pmtr_jobs "${client[@]}")" -- "$cur")
		fi
		;;
	*)
		mapfile -t COMPREPLY < <(compgen -W "$(_pmtr_jobs "${client[@]}")" -- "$cur")
		;;
	esac
}

complete -F _pmtr pmtr
