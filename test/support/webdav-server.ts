/**
 * A real WebDAV server (webdav-server, in memory) on 127.0.0.1 and a free port, for the federation
 * exchange tests. With `auth`, every request must carry that user's basic credentials.
 */
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import webdavServer from 'webdav-server'

const { v2 } = webdavServer

export interface WebdavTestServer {
  url: string
  stop(): Promise<void>
}

export async function startWebdavServer(auth?: { user: string; password: string }): Promise<WebdavTestServer> {
  const options: ConstructorParameters<typeof v2.WebDAVServer>[0] = { port: 0, hostname: '127.0.0.1' }
  if (auth) {
    const users = new v2.SimpleUserManager()
    const user = users.addUser(auth.user, auth.password, false)
    const privileges = new v2.SimplePathPrivilegeManager()
    privileges.setRights(user, '/', ['all'])
    Object.assign(options, {
      httpAuthentication: new v2.HTTPBasicAuthentication(users, 'mirador-test'),
      privilegeManager: privileges,
      requireAuthentification: true,
    })
  }
  const server = new v2.WebDAVServer(options)
  const http = await new Promise<Server>((resolve) => server.start((s) => resolve(s as Server)))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections?.()
        server.stop(() => resolve())
      }),
  }
}
