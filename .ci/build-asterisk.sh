#!/usr/bin/env bash
# Build Asterisk 22.10.1 with chan_pjsip (bundled pjproject 2.17) for the contact-centre lab
# (tests/lab, docs/testing.md) and install it under a cache folder outside the clone:
#
#   ${RINGWATCH_CACHE:-$HOME/.cache/ringwatch}/asterisk-<key>/
#
# <key> is the SHA-256 of the two source tarballs and of this script, so a second run (or a
# fresh clone on the same machine) reuses the install and takes seconds. Prints the install
# folder on its last line of stdout; `tests/lab` finds it the same way (or by RINGWATCH_ASTERISK).
#
# Sources, first found wins:
#   1. $RINGWATCH_ASTERISK_SRC (a folder holding asterisk-22.10.1.tar.gz and pjproject-2.17.tar.bz2)
#   2. ../shared/asterisk/ beside the repository
#   3. the official release downloads (machines with internet)
set -euo pipefail

AST_VERSION=22.10.1
PJ_VERSION=2.17
AST_TGZ=asterisk-${AST_VERSION}.tar.gz
PJ_TBZ=pjproject-${PJ_VERSION}.tar.bz2
AST_URL=https://downloads.asterisk.org/pub/telephony/asterisk/releases/${AST_TGZ}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
script="$repo/.ci/build-asterisk.sh"
cache=${RINGWATCH_CACHE:-$HOME/.cache/ringwatch}
jobs=${RINGWATCH_BUILD_JOBS:-2}
mkdir -p "$cache"

log() { echo "ringwatch asterisk: $*" >&2; }

src=""
for cand in "${RINGWATCH_ASTERISK_SRC:-}" "$repo/../shared/asterisk"; do
  if [ -n "$cand" ] && [ -f "$cand/$AST_TGZ" ]; then
    src=$(cd "$cand" && pwd)
    break
  fi
done
bundled_pj=yes
if [ -z "$src" ]; then
  src="$cache/src"
  mkdir -p "$src"
  if [ ! -f "$src/$AST_TGZ" ]; then
    log "no local sources (RINGWATCH_ASTERISK_SRC, ../shared/asterisk): downloading $AST_URL"
    curl -fsSL --retry 2 -o "$src/$AST_TGZ.part" "$AST_URL" || {
      log "download failed: put $AST_TGZ and $PJ_TBZ in a folder and set RINGWATCH_ASTERISK_SRC"
      exit 1
    }
    mv "$src/$AST_TGZ.part" "$src/$AST_TGZ"
  fi
fi
# without a local pjproject tarball Asterisk's own build downloads the release file and checks
# it against the MD5 it ships
[ -f "$src/$PJ_TBZ" ] || bundled_pj=download

key=$(
  {
    sha256sum "$src/$AST_TGZ" | cut -d' ' -f1
    if [ -f "$src/$PJ_TBZ" ]; then sha256sum "$src/$PJ_TBZ" | cut -d' ' -f1; fi
    sha256sum "$script" | cut -d' ' -f1
  } | sha256sum | cut -c1-16
)
dest="$cache/asterisk-$key"
if [ -x "$dest/usr/sbin/asterisk" ] && [ -f "$dest/.complete" ]; then
  log "cached: $dest"
  echo "$dest"
  exit 0
fi

build="$cache/build-$key"
rm -rf "$build" "$dest.part"
mkdir -p "$build"
start=$(date +%s)
log "building Asterisk $AST_VERSION with chan_pjsip in $build (about 10 min on 2 cores)"
tar -xzf "$src/$AST_TGZ" -C "$build"
cd "$build/asterisk-$AST_VERSION"

conf=(--with-pjproject-bundled --with-jansson --disable-xmldoc --prefix=/usr
      --sysconfdir=/etc --localstatedir=/var)
if [ "$bundled_pj" = yes ]; then
  # the tarball here is a `git archive` of tag 2.17, not the release file: its own MD5 replaces
  # the shipped one (/work/shared/asterisk/README.md)
  (cd "$src" && md5sum "$PJ_TBZ") > third-party/pjproject/$PJ_TBZ.md5
  conf+=(--with-download-cache="$src")
fi
nice ./configure "${conf[@]}" >"$build/configure.log" 2>&1 || {
  log "configure failed, see $build/configure.log"; tail -20 "$build/configure.log" >&2; exit 1; }

nice make menuselect.makeopts >"$build/menuselect.log" 2>&1
ms=menuselect/menuselect
for cat in MENUSELECT_ADDONS MENUSELECT_APPS MENUSELECT_BRIDGES MENUSELECT_CDR MENUSELECT_CEL \
           MENUSELECT_CHANNELS MENUSELECT_CODECS MENUSELECT_FORMATS MENUSELECT_FUNCS \
           MENUSELECT_PBX MENUSELECT_RES MENUSELECT_TESTS MENUSELECT_UTILS MENUSELECT_AGIS \
           MENUSELECT_CORE_SOUNDS MENUSELECT_MOH MENUSELECT_EXTRA_SOUNDS; do
  $ms --disable-category "$cat" menuselect.makeopts >>"$build/menuselect.log" 2>&1
done
modules=(
  app_queue app_dial app_mixmonitor app_playback app_userevent app_voicemail app_stack
  app_originate app_echo app_milliwatt app_playtones app_verbose app_exec app_senddtmf
  app_transfer app_record app_softhangup app_channelredirect app_bridgewait
  pbx_config
  res_musiconhold res_timing_timerfd res_rtp_asterisk res_sorcery_config res_sorcery_memory
  res_sorcery_astdb res_pjproject res_pjsip res_pjsip_session res_pjsip_pubsub
  res_pjsip_sdp_rtp res_pjsip_refer res_pjsip_endpoint_identifier_ip
  res_pjsip_endpoint_identifier_user res_pjsip_authenticator_digest
  res_pjsip_outbound_authenticator_digest res_pjsip_caller_id res_pjsip_dtmf_info
  res_pjsip_rfc3326 res_pjsip_header_funcs res_pjsip_logger res_pjsip_nat res_pjsip_diversion
  res_pjsip_dlg_options chan_pjsip
  bridge_simple bridge_softmix bridge_holding bridge_builtin_features bridge_native_rtp
  format_wav format_pcm format_gsm format_sln format_wav_gsm
  codec_ulaw codec_alaw codec_gsm codec_resample codec_a_mu
  func_callerid func_channel func_strings func_logic func_cdr func_cut func_global func_math
  func_periodic_hook func_uri func_pjsip_endpoint
  cdr_csv cdr_manager cel_manager
)
for m in "${modules[@]}"; do
  $ms --enable "$m" menuselect.makeopts >>"$build/menuselect.log" 2>&1
done
$ms --check-deps menuselect.makeopts >>"$build/menuselect.log" 2>&1 || {
  log "menuselect dependencies unmet, see $build/menuselect.log"; tail -20 "$build/menuselect.log" >&2; exit 1; }

nice make -j"$jobs" >"$build/make.log" 2>&1 || {
  log "make failed, see $build/make.log"; tail -30 "$build/make.log" >&2; exit 1; }
mkdir -p "$dest.part"
nice make install DESTDIR="$dest.part" >"$build/install.log" 2>&1 || {
  log "make install failed, see $build/install.log"; tail -30 "$build/install.log" >&2; exit 1; }
end=$(date +%s)
echo "built in $((end - start)) s from $src on $(nproc) cores" > "$dest.part/.complete"
rm -rf "$dest"
mv "$dest.part" "$dest"
cd "$cache" && rm -rf "$build"
log "built in $((end - start)) s: $dest"
echo "$dest"
