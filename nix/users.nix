# The one non-root user of an image: /etc/passwd, /etc/group and /etc/nsswitch.conf,
# plus what every image's fakeRootCommands share: `owner` (uid:gid), `q` (a contract
# path inside the layer being built, shell-quoted) and `tmpCommands` (a sticky /tmp).
# Everything comes from the image contract entry given as `entry` (user, uid, gid);
# `home` and `shell` are passed by the image expression.
{ pkgs }:
{
  entry,
  home,
  shell,
}:
let
  uid = toString entry.uid;
  gid = toString entry.gid;
  passwd = ''
    root:x:0:0:root:/root:${shell}
    ${entry.user}:x:${uid}:${gid}:${entry.user}:${home}:${shell}
    nobody:x:65534:65534:nobody:/var/empty:/bin/false
  '';
  group = ''
    root:x:0:
    ${entry.user}:x:${gid}:
    nogroup:x:65534:
  '';
  nsswitch = ''
    passwd: files
    group: files
    shadow: files
    hosts: files dns
  '';
in
{
  inherit passwd group nsswitch;
  owner = "${uid}:${gid}";
  q = path: pkgs.lib.escapeShellArg ".${path}";
  tmpCommands = ''
    mkdir -p ./tmp
    chmod 1777 ./tmp
  '';
  contents = [
    (pkgs.writeTextDir "etc/passwd" passwd)
    (pkgs.writeTextDir "etc/group" group)
    (pkgs.writeTextDir "etc/nsswitch.conf" nsswitch)
  ];
}
