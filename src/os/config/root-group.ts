// Who besides root belongs to group 0. A configuration file that is group-writable by group 0
// is writable only by root as long as the group has no other member — the original pmtr's
// own files come out of its archive as 0664 root:root, and refusing them broke its users
// (issue 16). A member of group 0 could edit the file and run commands as root, so with
// members the file is refused and the message names them.
//
// Read from /etc/group (the member list of gid 0) and /etc/passwd (users whose primary group
// is 0): where the accounts come from NSS (LDAP, sssd) their gid-0 members are not seen, which
// is why only gid 0 is trusted this way, never another group.

import { readFileSync } from "node:fs";

/** Members of gid 0 other than root, from the texts of /etc/group and /etc/passwd. */
export function rootGroupMembersOf(groupText: string, passwdText: string): string[] {
  const members = new Set<string>();
  for (const line of groupText.split("\n")) {
    const [, , gid, list] = line.split(":");
    if (gid?.trim() === "0" && list) for (const m of list.split(",")) if (m.trim() !== "") members.add(m.trim());
  }
  for (const line of passwdText.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name && gid?.trim() === "0" && uid?.trim() !== "0") members.add(name);
  }
  members.delete("root");
  return [...members].sort();
}

/** The members now; an unreadable /etc/group counts as a member ("unknown"): refuse when unsure. */
export function rootGroupMembers(): string[] {
  try {
    return rootGroupMembersOf(readFileSync("/etc/group", "utf8"), readFileSync("/etc/passwd", "utf8"));
  } catch {
    return ["(unknown: /etc/group or /etc/passwd unreadable)"];
  }
}
