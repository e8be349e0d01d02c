// The sandbox's machine images: the public AMI aliases AWS publishes in Parameter Store, each
// resolving to a stable made-up AMI id, and what a host booted from it holds. A dnf host is
// Amazon Linux 2023 (AWS CLI v2 and Python 3.9 installed, no Java); an apt host is Ubuntu or
// Debian (Python installed; no AWS CLI on Ubuntu, no Java on either). Each image has the package
// catalog of its distribution for what the bootstrap installs, so a wrong package name fails as
// it would on the real system. Versions are those the distributions shipped in 2025.
import { stableHash } from './world.ts';

export type ImageFamily = 'al2023' | 'ubuntu-24.04' | 'ubuntu-22.04' | 'debian-12';

export interface PackageEntry {
  /** The package's name in its distribution. */
  name: string;
  /** The command it puts on PATH, if the bootstrap relies on one ('' for none). */
  command: string;
  /** The version that command reports. */
  version: string;
  /** A repository that must be added first (hashicorp, adoptium), or `snap` for a snap. */
  source?: 'hashicorp' | 'adoptium' | 'snap';
}

export interface HostImage {
  family: ImageFamily;
  /** What DescribeImages names the image. */
  name: string;
  rootDevice: string;
  packageManager: 'dnf' | 'apt';
  /** /etc/os-release as the distribution writes it. */
  osRelease: string;
  /** Packages the image boots with (their commands are on PATH from the start). */
  preinstalled: string[];
  catalog: PackageEntry[];
  /** Whether snapd is there (`snap install`), as on Canonical's images. */
  snap: boolean;
}

const common = (git: string, unzip: string): PackageEntry[] => [
  { name: 'git', command: 'git', version: git },
  { name: 'unzip', command: 'unzip', version: unzip },
  { name: 'curl', command: '', version: '' },
  { name: 'terraform', command: 'terraform', version: '1.11.4', source: 'hashicorp' },
];

const images: HostImage[] = [
  {
    family: 'al2023',
    name: 'al2023-ami-2023.7.20250527.1-kernel-6.1-x86_64',
    rootDevice: '/dev/xvda',
    packageManager: 'dnf',
    osRelease: 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPLATFORM_ID="platform:al2023"\nPRETTY_NAME="Amazon Linux 2023.7.20250527"\n',
    preinstalled: ['python3', 'awscli-2', 'dnf-plugins-core', 'curl'],
    catalog: [
      { name: 'java-21-amazon-corretto-headless', command: 'java', version: '21.0.7' },
      { name: 'java-17-amazon-corretto-headless', command: 'java', version: '17.0.15' },
      { name: 'python3', command: 'python3', version: '3.9.23' },
      { name: 'python3-pip', command: 'pip3', version: '21.3.1' },
      { name: 'python3.11', command: 'python3.11', version: '3.11.12' },
      { name: 'python3.11-pip', command: 'pip3.11', version: '22.3.1' },
      { name: 'python3.12', command: 'python3.12', version: '3.12.10' },
      { name: 'python3.12-pip', command: 'pip3.12', version: '23.2.1' },
      { name: 'awscli-2', command: 'aws', version: '2.25.0' },
      { name: 'docker', command: 'docker', version: '25.0.8' },
      { name: 'dnf-plugins-core', command: '', version: '' },
      ...common('2.47.1', '6.00'),
    ],
    snap: false,
  },
  {
    family: 'ubuntu-24.04',
    name: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610',
    rootDevice: '/dev/sda1',
    packageManager: 'apt',
    osRelease: 'PRETTY_NAME="Ubuntu 24.04.2 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.2 LTS (Noble Numbat)"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n',
    preinstalled: ['python3', 'curl', 'gnupg'],
    catalog: [
      { name: 'openjdk-21-jre-headless', command: 'java', version: '21.0.7' },
      { name: 'openjdk-17-jre-headless', command: 'java', version: '17.0.15' },
      { name: 'python3', command: 'python3', version: '3.12.3' },
      { name: 'python3-venv', command: '', version: '' },
      { name: 'python3-pip', command: 'pip3', version: '24.0' },
      { name: 'docker.io', command: 'docker', version: '27.5.1' },
      { name: 'gnupg', command: 'gpg', version: '2.4.4' },
      // Ubuntu 24.04 has no awscli package: the CLI comes as a snap.
      { name: 'aws-cli', command: 'aws', version: '2.27.41', source: 'snap' },
      ...common('2.43.0', '6.00'),
    ],
    snap: true,
  },
  {
    family: 'ubuntu-22.04',
    name: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250610',
    rootDevice: '/dev/sda1',
    packageManager: 'apt',
    osRelease: 'PRETTY_NAME="Ubuntu 22.04.5 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.5 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n',
    preinstalled: ['python3', 'curl', 'gnupg'],
    catalog: [
      { name: 'openjdk-21-jre-headless', command: 'java', version: '21.0.7' },
      { name: 'openjdk-17-jre-headless', command: 'java', version: '17.0.15' },
      { name: 'python3', command: 'python3', version: '3.10.12' },
      { name: 'python3-venv', command: '', version: '' },
      { name: 'python3-pip', command: 'pip3', version: '22.0.2' },
      { name: 'python3.11', command: 'python3.11', version: '3.11.0' },
      { name: 'python3.11-venv', command: '', version: '' },
      { name: 'awscli', command: 'aws', version: '1.22.34' },
      { name: 'docker.io', command: 'docker', version: '24.0.7' },
      { name: 'gnupg', command: 'gpg', version: '2.2.27' },
      ...common('2.34.1', '6.00'),
    ],
    snap: true,
  },
  {
    family: 'debian-12',
    name: 'debian-12-amd64-20250610-2137',
    rootDevice: '/dev/xvda',
    packageManager: 'apt',
    osRelease: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    preinstalled: ['python3', 'curl'],
    catalog: [
      // Debian 12 has no OpenJDK 21: Adoptium's repository has Temurin.
      { name: 'openjdk-17-jre-headless', command: 'java', version: '17.0.15' },
      { name: 'temurin-21-jre', command: 'java', version: '21.0.7', source: 'adoptium' },
      { name: 'python3', command: 'python3', version: '3.11.2' },
      { name: 'python3-venv', command: '', version: '' },
      { name: 'python3-pip', command: 'pip3', version: '23.0.1' },
      { name: 'awscli', command: 'aws', version: '2.9.19' },
      { name: 'docker.io', command: 'docker', version: '20.10.24' },
      { name: 'gnupg', command: 'gpg', version: '2.2.40' },
      ...common('2.39.5', '6.00'),
    ],
    snap: false,
  },
];

/**
 * The public parameters EC2 users resolve AMIs through, by the family they boot. A name of one of
 * these shapes resolves; anything else under /aws/service/ is not found, as a typo would be.
 */
const aliases: { shape: RegExp; family: (name: string) => ImageFamily }[] = [
  { shape: /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-[a-z0-9._-]+$/, family: () => 'al2023' },
  {
    shape: /^\/aws\/service\/canonical\/ubuntu\/server\/(24\.04|22\.04|noble|jammy)\/stable\/current\/(amd64|arm64)\/hvm\/ebs-gp[23]\/ami-id$/,
    family: (name) => (/\/(22\.04|jammy)\//.test(name) ? 'ubuntu-22.04' : 'ubuntu-24.04'),
  },
  { shape: /^\/aws\/service\/debian\/release\/(12|bookworm)\/latest\/(amd64|arm64)$/, family: () => 'debian-12' },
];

/**
 * The AMI id a public alias stands for, with its image; undefined for any other name. `release`
 * counts the new AMIs published under the alias since the first (AWS points the "latest" aliases
 * at each new release): each one is another AMI of the same family.
 */
export function publicImage(name: string, release = 0): { imageId: string; image: HostImage } | undefined {
  const alias = aliases.find((a) => a.shape.test(name));
  if (!alias) return undefined;
  const key = release > 0 ? `${name}@${release}` : name;
  const imageId = `ami-0${(stableHash(key) >>> 0).toString(16).padStart(8, '0')}${(stableHash(`${key}#`) >>> 0).toString(16).padStart(8, '0')}`;
  return { imageId, image: imageOf(alias.family(name)) };
}

export function imageOf(family: ImageFamily): HostImage {
  return images.find((i) => i.family === family)!;
}

export function isImageFamily(text: string): text is ImageFamily {
  return images.some((i) => i.family === text);
}

/** The catalog as the `packages` stand-in reads it: one `name|command|version|source` line each. */
export function catalogText(image: HostImage): string {
  return image.catalog.map((p) => `${p.name}|${p.command}|${p.version}|${p.source ?? ''}\n`).join('');
}
