/**
 * The name of an operating system as a technician says it ("Debian GNU/Linux 12"), for progress
 * messages and the CLI. libguestfs' `inspect-get-product-name` is often the OS's own name
 * ("Red Hat Enterprise Linux 9.4 (Plow)", "Windows Server 2019 Standard"), but for Debian it is
 * the bare contents of /etc/debian_version ("12.5"): a version number with no name, which reads
 * as nonsense in "mounting 12.5". Pure.
 */

/** libguestfs `inspect-get-distro` values (guestfs-inspection(3)) → the distribution's name. */
export const DISTRO_NAMES: Readonly<Record<string, string>> = {
  almalinux: 'AlmaLinux',
  alpinelinux: 'Alpine Linux',
  altlinux: 'ALT Linux',
  archlinux: 'Arch Linux',
  centos: 'CentOS',
  circle: 'Circle Linux',
  coreos: 'CoreOS',
  debian: 'Debian GNU/Linux',
  fedora: 'Fedora',
  freebsd: 'FreeBSD',
  gentoo: 'Gentoo',
  kalilinux: 'Kali Linux',
  linuxmint: 'Linux Mint',
  mageia: 'Mageia',
  netbsd: 'NetBSD',
  openbsd: 'OpenBSD',
  openeuler: 'openEuler',
  opensuse: 'openSUSE',
  oraclelinux: 'Oracle Linux',
  rhel: 'Red Hat Enterprise Linux',
  rocky: 'Rocky Linux',
  scientificlinux: 'Scientific Linux',
  sles: 'SUSE Linux Enterprise Server',
  ubuntu: 'Ubuntu',
  voidlinux: 'Void Linux',
  windows: 'Windows',
};

/** What osDisplayName reads: the libguestfs inspection basics of one root (OsRoot's fields). */
export interface OsNameFacts {
  type: string;
  distro: string | null;
  product_name: string | null;
  major_version: number | null;
  minor_version?: number | null;
}

/**
 * "Debian GNU/Linux 12" for { distro: 'debian', product_name: '12.5', major_version: 12 };
 * the product name itself when it is a name (has a letter); else the distribution's name (or
 * the distro id, or the OS type) with the major version. Never a bare version number.
 */
export function osDisplayName(r: OsNameFacts): string {
  const product = r.product_name?.trim() ?? '';
  if (/[a-z]/i.test(product) && product.toLowerCase() !== 'unknown') return product;
  const name = (r.distro ? (DISTRO_NAMES[r.distro] ?? r.distro) : null) ?? (r.type && r.type !== 'unknown' ? r.type : 'the operating system');
  return r.major_version !== null ? `${name} ${r.major_version}` : name;
}
