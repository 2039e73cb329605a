#!/usr/bin/env bash
# floe template render prints exactly jinja2's text for every record of
# ../shared/data/chat/templates.jsonl (perl's core JSON::PP splits the records: perl comes with
# dpkg-dev, which .ci/setup installs); a template error exits 1, a missing flag exits 2.
# Usage: template_render.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
records=$data/chat/templates.jsonl
test -f "$records" || { echo "missing $records" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One folder per record: template, messages.json (keys in the records' order: role, content),
# expected, args (the flags, one per line).
perl -MJSON::PP -e '
  my ($records, $dir) = @ARGV;
  open(my $in, "<:raw", $records) or die;
  my $json = JSON::PP->new->utf8;
  my $n = 0;
  while (my $line = <$in>) {
    next unless $line =~ /\S/;
    my $r = $json->decode($line);
    my $d = "$dir/$n"; mkdir $d; $n++;
    for my $f (["template", $r->{template}], ["expected", $r->{expected}]) {
      open(my $o, ">:raw:encoding(UTF-8)", "$d/$f->[0]") or die; print $o $f->[1]; close $o;
    }
    my $enc = JSON::PP->new->ascii;
    my @m = map { "{\"role\": " . $enc->encode($_->{role}) . ", \"content\": " .
                  $enc->encode($_->{content}) . "}" } @{$r->{messages}};
    open(my $o, ">:raw", "$d/messages.json") or die; print $o "[" . join(", ", @m) . "]"; close $o;
    open($o, ">:raw:encoding(UTF-8)", "$d/args") or die;
    print $o "--bos-token\n$r->{bos_token}\n--eos-token\n$r->{eos_token}\n";
    print $o "--strftime-now\n$r->{strftime_now}\n";
    print $o "--no-generation-prompt\n" unless $r->{add_generation_prompt};
    close $o;
  }
  print "$n\n";
' "$records" "$tmp" >"$tmp/count"
test "$(cat "$tmp/count")" -eq 44
for d in "$tmp"/[0-9]*; do
  mapfile -t args <"$d/args"
  "$floe" template render --template "$d/template" --messages "$d/messages.json" "${args[@]}" \
    >"$d/out"
  cmp "$d/out" "$d/expected" || { echo "record $(basename "$d") differs" >&2; exit 1; }
done
# ChatML for an empty template
: >"$tmp/empty"
printf '[{"role": "user", "content": "hi"}]' >"$tmp/m.json"
"$floe" template render --template "$tmp/empty" --messages "$tmp/m.json" --no-generation-prompt \
  >"$tmp/chatml"
printf '<|im_start|>user\nhi<|im_end|>\n' | cmp - "$tmp/chatml"
# errors: raise_exception -> exit 1 with the message; bad usage -> exit 2
printf "{{ raise_exception('roles must alternate') }}" >"$tmp/bad"
set +e
"$floe" template render --template "$tmp/bad" --messages "$tmp/m.json" 2>"$tmp/err"
rc=$?
"$floe" template render --template "$tmp/bad" 2>/dev/null
rc2=$?
set -e
test $rc -eq 1 && grep -q "roles must alternate" "$tmp/err" && test $rc2 -eq 2
