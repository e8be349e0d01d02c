// Reading a node's settings out of its config.xml: the five elements the fleet sets, from documents
// as Jenkins writes them and as plugins and people extend them, checked against a whole-document
// parse (fast-xml-parser) where both should agree, and refusing what is not an agent's document.
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseNodeSettings, withNodeSettings } from '../../../provisioner/src/jenkins/node-xml.ts';

const asJenkinsWritesIt = `<?xml version="1.1" encoding="UTF-8"?>
<slave>
  <name>awsDeploy-i-0123456789abcdef0</name>
  <description>Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0. Changes made by hand are undone by &apos;provisioner up&apos;.</description>
  <remoteFS>/home/jenkins/agent</remoteFS>
  <numExecutors>2</numExecutors>
  <mode>EXCLUSIVE</mode>
  <retentionStrategy class="hudson.slaves.RetentionStrategy$Always"/>
  <launcher class="hudson.slaves.JNLPLauncher">
    <workDirSettings>
      <disabled>false</disabled>
      <internalDir>remoting</internalDir>
      <failIfWorkDirIsMissing>false</failIfWorkDirIsMissing>
    </workDirSettings>
    <webSocket>true</webSocket>
  </launcher>
  <label>awsDeploy terraform python</label>
  <nodeProperties/>
</slave>`;

/** What the same document gives when parsed whole, the way node-xml read it before the scan. */
function parsedWhole(xml: string) {
  const document = new XMLParser({ preserveOrder: true, ignoreAttributes: false, parseTagValue: false, parseAttributeValue: false, trimValues: false }).parse(xml) as Array<Record<string, unknown>>;
  const rootEntry = document.find((entry) => Object.keys(entry).some((k) => k !== ':@' && !k.startsWith('?') && k !== '#comment'))!;
  const rootName = Object.keys(rootEntry).find((k) => k !== ':@' && !k.startsWith('?') && k !== '#comment')!;
  const children = rootEntry[rootName] as Array<Record<string, unknown>>;
  const text = (element: string) => {
    const entry = children.find((c) => element in c);
    return entry ? (entry[element] as Array<Record<string, unknown>>).map((part) => (typeof part['#text'] === 'string' ? part['#text'] : '')).join('') : undefined;
  };
  const executors = Number(text('numExecutors') ?? '1');
  return {
    description: text('description') ?? '',
    remoteFS: text('remoteFS') ?? '',
    executors: Number.isInteger(executors) ? executors : 0,
    mode: (text('mode') ?? 'NORMAL').trim() === 'EXCLUSIVE' ? 'EXCLUSIVE' : 'NORMAL',
    labels: (text('label') ?? '').split(/\s+/).filter(Boolean),
  };
}

describe('parseNodeSettings', () => {
  it("reads description, remoteFS, executors, mode and labels from an agent's config.xml as Jenkins writes it", () => {
    expect(parseNodeSettings(asJenkinsWritesIt)).toEqual({
      description: "Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0. Changes made by hand are undone by 'provisioner up'.",
      remoteFS: '/home/jenkins/agent',
      executors: 2,
      mode: 'EXCLUSIVE',
      labels: ['awsDeploy', 'terraform', 'python'],
    });
  });

  it("ignores elements it does not know and a node property's own elements of the same names", () => {
    const xml = `<?xml version="1.1" encoding="UTF-8"?>
<!-- written by a plugin's migration, with a comment > in it -->
<hudson.slaves.DumbSlave plugin="ec2-fleet@1.0">
  <name>awsDeploy-i-0123456789abcdef0</name>
  <nodeProperties>
    <hudson.slaves.EnvironmentVariablesNodeProperty>
      <envVars serialization="custom"><description>not the node's</description><label>nor this</label></envVars>
    </hudson.slaves.EnvironmentVariablesNodeProperty>
    <com.example.Unknown attr='a > b' other="&quot;x&quot;"><mode>NORMAL</mode></com.example.Unknown>
  </nodeProperties>
  <launcher class="hudson.slaves.JNLPLauncher"><remoteFS>/elsewhere</remoteFS></launcher>
  <description>deploys &lt;prod&gt; &amp; staging</description>
  <remoteFS><![CDATA[/home/jenkins/<agent>]]></remoteFS>
  <numExecutors>3</numExecutors>
  <mode>EXCLUSIVE</mode>
  <label>awsDeploy
    docker</label>
  <someFutureSetting enabled="true"/>
</hudson.slaves.DumbSlave>
`;
    const settings = parseNodeSettings(xml);
    expect(settings).toEqual({ description: 'deploys <prod> & staging', remoteFS: '/home/jenkins/<agent>', executors: 3, mode: 'EXCLUSIVE', labels: ['awsDeploy', 'docker'] });
    expect(settings).toEqual(parsedWhole(xml));
  });

  it('resolves character references, as XStream writes control characters in XML 1.1 (the whole-document parse left them as written)', () => {
    expect(parseNodeSettings('<slave><description>a&#x2c; b&#9;c&#128640;</description></slave>').description).toBe('a, b\tc\u{1F680}');
  });

  it('agrees with a whole-document parse on absent, empty and repeated elements', () => {
    const documents = [
      '<slave><name>a</name></slave>',
      '<slave><description/><label/><mode/><numExecutors/></slave>',
      '<slave><description></description><label>  </label><mode> NORMAL </mode><numExecutors>two</numExecutors></slave>',
      '<slave><label>first</label><label>second</label><description>one<!-- c -->two</description></slave>',
      "<slave>\n  <description>a <b>bold</b> word</description>\n  <numExecutors>1</numExecutors>\n</slave>",
      withNodeSettings(asJenkinsWritesIt, { description: 'd & <e>', remoteFS: '/r', executors: 5, mode: 'NORMAL', labels: ['x', 'y'] }),
    ];
    for (const xml of documents) expect(parseNodeSettings(xml), xml).toEqual(parsedWhole(xml));
  });

  it('reads back what withNodeSettings wrote', () => {
    const settings = { description: 'pool "awsDeploy" & <friends>', remoteFS: '/home/jenkins/agent', executors: 4, mode: 'NORMAL' as const, labels: ['awsDeploy', 'docker'] };
    expect(parseNodeSettings(withNodeSettings(asJenkinsWritesIt, settings))).toEqual(settings);
  });

  it("refuses a document that is not an agent's", () => {
    expect(() => parseNodeSettings('<?xml version="1.1"?>\n<hudson.model.FreeStyleProject><description>a job</description></hudson.model.FreeStyleProject>')).toThrow(
      'config.xml describes a <hudson.model.FreeStyleProject>, not an agent (<slave>)',
    );
    expect(() => parseNodeSettings('<html><body>Please sign in</body></html>')).toThrow('describes a <html>, not an agent');
    expect(() => parseNodeSettings('')).toThrow('config.xml holds no element');
    expect(() => parseNodeSettings('<?xml version="1.1"?>\n<!-- nothing -->\n')).toThrow('config.xml holds no element');
  });

  it('refuses a document cut short or not well-formed instead of reading half of it', () => {
    // saxes' words, after the line and column where it met the fault.
    expect(() => parseNodeSettings(asJenkinsWritesIt.slice(0, asJenkinsWritesIt.indexOf('<label>')))).toThrow(/^config\.xml is not well-formed: \d+:\d+: unclosed tag: slave$/);
    expect(() => parseNodeSettings('<slave><label>a</mode></slave>')).toThrow(/^config\.xml is not well-formed: 1:22: unexpected close tag/);
    expect(() => parseNodeSettings('<slave><label class="a>')).toThrow(/^config\.xml is not well-formed: /);
    expect(() => parseNodeSettings('<slave><!-- open')).toThrow(/^config\.xml is not well-formed: /);
    expect(() => parseNodeSettings('<slave><label>&bogus;</label></slave>')).toThrow(/^config\.xml is not well-formed: 1:21: undefined entity/);
    expect(() => parseNodeSettings('<!DOCTYPE slave [<!ENTITY x "y">]><slave><label>&x;</label></slave>')).toThrow('document type declaration');
  });
});
