#!/bin/sh
# Installs what the tests need from Debian's packages: Postfix 3.7 (the
# reference the differential tests compare against), its map plugins and
# documentation, swaks, and the SASL and policy servers smtpd talks to
# (saslauthd, Dovecot, postgrey) and memcached. Runs only as root; otherwise it checks and says
# what is missing. Debian's Postfix daemon is kept from starting.
set -e
need=""
for f in /usr/sbin/postconf /usr/sbin/postmap /usr/sbin/postalias /usr/lib/postfix/postfix-pcre.so /usr/lib/postfix/postfix-cdb.so /usr/lib/postfix/postfix-lmdb.so /usr/share/doc/postfix/html /usr/bin/swaks /usr/sbin/pflogsumm /usr/bin/python3 /usr/sbin/saslauthd /usr/sbin/dovecot /usr/sbin/postgrey /usr/bin/openssl /usr/bin/memcached; do
	[ -e "$f" ] || need=yes
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "test/deps.sh: Postfix 3.7 (postfix postfix-pcre postfix-cdb), swaks, pflogsumm, sasl2-bin, dovecot-core, postgrey and memcached are needed; run make test as root once, or install them." >&2
	exit 0
fi
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' > $policy
	chmod 755 $policy
	made_policy=yes
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q postfix postfix-pcre postfix-cdb postfix-lmdb postfix-doc swaks python3 pflogsumm sasl2-bin libsasl2-modules dovecot-core postgrey openssl memcached >/dev/null
# Nothing of these may run system-wide: tests start their own.
for s in saslauthd dovecot postgrey memcached; do service $s stop >/dev/null 2>&1 || true; done
[ -n "$made_policy" ] && rm -f $policy
# Debian may have started nothing (policy-rc.d), but make sure.
/usr/sbin/postfix stop >/dev/null 2>&1 || true
exit 0
